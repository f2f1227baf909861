#[memscope::test(allocations = "96 B")]
async fn parses() {}

fn main() {}
