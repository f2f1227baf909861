#[memscope::main(serve = "localhost")]
async fn main() {}
