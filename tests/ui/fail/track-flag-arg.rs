#[memscope::track(io)]
async fn read() {}

fn main() {
    let _ = read();
}
