#[memscope::test]
async fn parses(input: &str) {
    let _ = input;
}

fn main() {}
