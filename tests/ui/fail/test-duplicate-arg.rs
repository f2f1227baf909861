#[memscope::test(peak = "1 MiB", peak = "2 MiB")]
async fn parses() {}

fn main() {}
