#[memscope::track(label)]
async fn read() {}

fn main() {
    let _ = read();
}
