// `KB` is 1000 bytes to some and 1024 to others: binary units only.
#[memscope::test(peak = "256 KB")]
async fn parses() {}

fn main() {}
