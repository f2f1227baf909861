#[memscope::main(report = target/report.json)]
async fn main() {}
