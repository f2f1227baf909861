struct Peer;

#[memscope::track(label = Peer)]
async fn read() {}

fn main() {
    let _ = read();
}
