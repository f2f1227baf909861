#[memscope::test(worker_threads = 2)]
async fn parses() {}

fn main() {}
