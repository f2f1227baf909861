use std::net::SocketAddr;

struct Conn {
    id: u64,
}

impl Conn {
    #[memscope::track(task_type = "network", label = self.id)]
    async fn serve(&self, bytes: Vec<u8>) -> usize {
        bytes.len()
    }
}

// The label may name an argument the body then takes by value.
#[memscope::track(label = format!("{peer}"))]
async fn handle(peer: SocketAddr, request: String) -> (SocketAddr, usize) {
    (peer, request.len())
}

#[memscope::main]
async fn main() {
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(handle(peer, "get".into()).await, (peer, 3));
    assert_eq!(Conn { id: 7 }.serve(vec![1, 2]).await, 2);
}
