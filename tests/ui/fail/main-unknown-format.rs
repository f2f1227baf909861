#[memscope::main(report = "target/report.xml", format = "xml")]
async fn main() {}
