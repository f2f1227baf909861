#[memscope::test(heap = "1 MiB")]
async fn parses() {}

fn main() {}
