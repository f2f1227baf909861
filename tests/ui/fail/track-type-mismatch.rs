// A type error in the body points at the user's own tail expression and
// names the declared return type, as it would without the attribute.
#[memscope::track]
async fn count() -> u32 {
    let label = "three";
    label
}

fn main() {
    let _ = count();
}
