#[memscope::main]
fn main() {}
