#![deny(warnings)]
//! `?` and early `return` leave the tracked task with the declared types.

use std::error::Error;
use std::num::ParseIntError;

#[memscope::track]
async fn parse_sum(text: &str) -> Result<i64, ParseIntError> {
    let mut sum = 0;
    for part in text.split(',') {
        if part == "stop" {
            return Ok(sum);
        }
        sum += part.trim().parse::<i64>()?;
    }
    Ok(sum)
}

#[memscope::track(task_type = "io")]
async fn load(text: &str) -> Result<i64, Box<dyn Error + Send + Sync>> {
    if text.is_empty() {
        return Err("empty input".into());
    }
    // `?` converts ParseIntError into the declared Box<dyn Error>.
    let sum = parse_sum(text).await?;
    Ok(sum * 2)
}

#[memscope::track]
async fn find(items: &[u8], wanted: u8) -> Option<usize> {
    let index = items.iter().position(|&i| i == wanted)?;
    Some(index + 1)
}

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    assert_eq!(parse_sum("1, 2,3").await, Ok(6));
    assert_eq!(parse_sum("1,stop,x").await, Ok(1));
    assert!(parse_sum("1,x").await.is_err());
    assert_eq!(load("1,2").await?, 6);
    assert_eq!(load("").await.unwrap_err().to_string(), "empty input");
    assert_eq!(find(&[4, 5], 5).await, Some(2));
    assert_eq!(find(&[4, 5], 6).await, None);
    Ok(())
}
