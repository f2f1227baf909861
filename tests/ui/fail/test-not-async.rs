#[memscope::test]
fn parses() {}

fn main() {}
