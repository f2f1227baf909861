// `#[async_trait]` is not supported: it runs first and leaves `#[track]` a plain
// fn returning a boxed future. This is the method as `#[async_trait]` leaves it.
use std::future::Future;
use std::pin::Pin;

trait Store {
    fn get<'a>(&'a self) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>>;
}

struct MemStore;

impl Store for MemStore {
    #[memscope::track]
    fn get<'a>(&'a self) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>> {
        Box::pin(async move { 1 })
    }
}

fn main() {
    let _ = MemStore.get();
}
