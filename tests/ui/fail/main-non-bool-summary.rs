#[memscope::main(summary = "no")]
async fn main() {}
