#[memscope::main(crate = "tokio")]
async fn main() {}
