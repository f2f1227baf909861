//! The connections open, at most [`MAX_CONNECTIONS`]: admitting one more closes the oldest.

use crate::serve::limits::MAX_CONNECTIONS;
use std::collections::VecDeque;
use std::rc::Rc;
use tokio::sync::Notify;

/// Open connections, oldest first, each with what tells it to close.
#[derive(Default)]
pub(crate) struct Connections {
    open: VecDeque<(u64, Rc<Notify>)>,
    next_id: u64,
}

impl Connections {
    /// Admits a new connection (closing the oldest if [`MAX_CONNECTIONS`] are open); its
    /// id and what will tell it to close.
    pub(crate) fn admit(&mut self) -> (u64, Rc<Notify>) {
        if self.open.len() >= MAX_CONNECTIONS {
            if let Some((_, oldest)) = self.open.pop_front() {
                // A permit is stored if the connection is not waiting yet: it still closes.
                oldest.notify_one();
            }
        }
        self.next_id += 1;
        let close = Rc::new(Notify::new());
        self.open.push_back((self.next_id, Rc::clone(&close)));
        (self.next_id, close)
    }

    /// Forgets connection `id` (it ended).
    pub(crate) fn remove(&mut self, id: u64) {
        self.open.retain(|(open, _)| *open != id);
    }

    /// Connections open now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admitting_past_the_cap_closes_the_oldest() {
        let mut c = Connections::default();
        let (first, close_first) = c.admit();
        for _ in 1..MAX_CONNECTIONS {
            c.admit();
        }
        assert_eq!(c.len(), MAX_CONNECTIONS);
        c.admit();
        assert_eq!(c.len(), MAX_CONNECTIONS);
        // The oldest was told to close: its permit is stored.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), close_first.notified())
                .await
                .expect("the oldest connection is told to close");
        });
        c.remove(first);
        assert_eq!(c.len(), MAX_CONNECTIONS);
    }
}
