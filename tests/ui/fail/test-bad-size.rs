// A size string needs a unit; bytes without one are an integer literal.
#[memscope::test(retained = "4096")]
async fn parses() {}

fn main() {}
