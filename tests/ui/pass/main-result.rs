#![deny(warnings)]
//! A `main` returning `Result` keeps working: `?` converts into its error type.

use std::error::Error;

#[memscope::track(task_type = "io")]
async fn read(n: u8) -> Result<u8, std::num::TryFromIntError> {
    u8::try_from(u16::from(n) * 2)
}

#[memscope::main(summary = false)]
async fn main() -> Result<(), Box<dyn Error>> {
    let doubled = read(21).await?;
    if doubled != 42 {
        return Err("wrong answer".into());
    }
    Ok(())
}
