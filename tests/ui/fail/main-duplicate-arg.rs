#[memscope::main(summary = false, summary = true)]
async fn main() {}
