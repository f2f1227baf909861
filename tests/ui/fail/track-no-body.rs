trait Store {
    #[memscope::track]
    async fn get(&self) -> u8;
}

fn main() {}
