#[memscope::test]
struct Parser;

fn main() {
    let _ = Parser;
}
