#[memscope::track]
struct Service;

fn main() {
    let _ = Service;
}
