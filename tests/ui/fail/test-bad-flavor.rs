#[memscope::test(flavor = "single_thread")]
async fn parses() {}

fn main() {}
