// A syntax error in the body is reported once, at its own token.
#[memscope::main]
async fn main() {
    let = 5;
}
