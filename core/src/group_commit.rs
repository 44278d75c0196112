//! Group commit for a single-threaded runtime (one Worker isolate): callers that want an
//! item written at about the same time share one write.
//!
//! The first caller leads: it writes its item with everything that is waiting (up to a
//! batch limit). Callers arriving while a write is in flight wait; when the write ends,
//! the leader marks its batch done and hands the lead to the oldest waiter, which writes
//! the next batch in its own task. So each task writes at most one batch of its own
//! (a Worker's `waitUntil` is bounded; no task ends up writing for everyone), a caller
//! alone is written at once (no timer, no added delay), and under load the writes
//! coalesce.
//!
//! If a leader's task is dropped mid-write (its `waitUntil` was cancelled), the waiters of
//! its batch see their channel closed and write their own items, and the lead passes on.
//! Items are handed to `write` as shared references so that a waiter keeps its own.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use futures_channel::oneshot;

/// What a waiter is told.
enum Turn {
    /// Its item was written in the leader's batch.
    Done,
    /// It leads now: it writes its item and what waits behind it.
    Lead,
}

struct State<T> {
    busy: bool,
    waiting: VecDeque<(Rc<T>, oneshot::Sender<Turn>)>,
}

/// A group-commit point; see the module documentation.
pub struct GroupCommit<T> {
    state: RefCell<State<T>>,
    max_batch: usize,
}

impl<T> GroupCommit<T> {
    /// A group commit writing at most `max_batch` (at least 1) items at a time.
    pub fn new(max_batch: usize) -> Self {
        GroupCommit { state: RefCell::new(State { busy: false, waiting: VecDeque::new() }), max_batch: max_batch.max(1) }
    }

    /// Items waiting for a write (not counting the batch in flight).
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    /// Writes `item`, alone or in a batch with others, with `write` (which handles its
    /// own failures). Returns once a write that included the item has ended.
    pub async fn commit<W, F>(&self, item: T, write: W)
    where
        W: Fn(Vec<Rc<T>>) -> F,
        F: Future<Output = ()>,
    {
        let item = Rc::new(item);
        let wait = {
            let mut s = self.state.borrow_mut();
            if s.busy {
                let (tx, rx) = oneshot::channel();
                s.waiting.push_back((Rc::clone(&item), tx));
                Some(rx)
            } else {
                s.busy = true;
                None
            }
        };
        if let Some(rx) = wait {
            match rx.await {
                Ok(Turn::Done) => return,
                Ok(Turn::Lead) => {}
                Err(oneshot::Canceled) => {
                    // The leader of our batch was dropped mid-write: write our own item.
                    write(vec![item]).await;
                    return;
                }
            }
        }
        // Lead: this item, and the oldest waiters behind it.
        let lead = Lead { gc: self };
        let (items, done): (Vec<Rc<T>>, Vec<oneshot::Sender<Turn>>) = {
            let mut s = self.state.borrow_mut();
            let n = s.waiting.len().min(self.max_batch - 1);
            std::iter::once((item, None)).chain(s.waiting.drain(..n).map(|(i, tx)| (i, Some(tx)))).fold(
                (Vec::with_capacity(n + 1), Vec::with_capacity(n)),
                |(mut items, mut done), (i, tx)| {
                    items.push(i);
                    done.extend(tx);
                    (items, done)
                },
            )
        };
        write(items).await;
        for tx in done {
            // A waiter that is gone needs no answer.
            let _ = tx.send(Turn::Done);
        }
        drop(lead);
    }
}

/// The lead, passed on when the leader finishes or is dropped.
struct Lead<'a, T> {
    gc: &'a GroupCommit<T>,
}

impl<T> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        let mut s = self.gc.state.borrow_mut();
        // The oldest waiter still there leads next; waiters whose task is gone are skipped
        // (their items go with their cancelled tasks, as they would have without batching).
        while let Some((_, tx)) = s.waiting.pop_front() {
            if tx.send(Turn::Lead).is_ok() {
                return;
            }
        }
        s.busy = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    /// A write that stays pending until the test opens the gate.
    struct Gate(Rc<Cell<bool>>);
    impl Future for Gate {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

    /// Polls every unfinished task once (a waker that does nothing: the test polls again).
    fn poll_all(tasks: &mut [Option<Task<'_>>]) {
        let mut cx = Context::from_waker(Waker::noop());
        for t in tasks.iter_mut() {
            if let Some(f) = t {
                if f.as_mut().poll(&mut cx).is_ready() {
                    *t = None;
                }
            }
        }
    }

    struct Log {
        batches: RefCell<Vec<Vec<u32>>>,
        open: Rc<Cell<bool>>,
    }

    impl Log {
        fn new() -> Self {
            Log { batches: RefCell::new(Vec::new()), open: Rc::new(Cell::new(false)) }
        }
        fn write(&self, items: Vec<Rc<u32>>) -> Gate {
            self.batches.borrow_mut().push(items.iter().map(|i| **i).collect());
            Gate(Rc::clone(&self.open))
        }
    }

    #[test]
    fn a_caller_alone_is_written_at_once() {
        let gc = GroupCommit::new(10);
        let log = Log::new();
        log.open.set(true);
        let mut tasks: Vec<Option<Task<'_>>> = vec![Some(Box::pin(gc.commit(1, |b| log.write(b))))];
        poll_all(&mut tasks);
        assert!(tasks[0].is_none());
        assert_eq!(*log.batches.borrow(), vec![vec![1]]);
        assert_eq!(gc.waiting(), 0);
    }

    #[test]
    fn callers_arriving_during_a_write_share_the_next_one_led_by_the_oldest() {
        let gc = GroupCommit::new(3);
        let log = Log::new();
        let mut tasks: Vec<Option<Task<'_>>> = (1..=6).map(|i| Some(Box::pin(gc.commit(i, |b| log.write(b))) as Task<'_>)).collect();
        poll_all(&mut tasks);
        // 1 leads alone; 2..6 wait.
        assert_eq!(*log.batches.borrow(), vec![vec![1]]);
        assert_eq!(gc.waiting(), 5);
        log.open.set(true);
        poll_all(&mut tasks); // 1 finishes and hands the lead to 2, which writes 2, 3, 4
        poll_all(&mut tasks); // 2 finishes; 3 and 4 are done; 5 leads and writes 5, 6
        poll_all(&mut tasks);
        assert_eq!(*log.batches.borrow(), vec![vec![1], vec![2, 3, 4], vec![5, 6]]);
        assert!(tasks.iter().all(Option::is_none), "every caller returned");
        assert_eq!(gc.waiting(), 0);
        // Idle again: the next caller leads at once.
        let mut more: Vec<Option<Task<'_>>> = vec![Some(Box::pin(gc.commit(7, |b| log.write(b))))];
        poll_all(&mut more);
        assert!(more[0].is_none());
        assert_eq!(log.batches.borrow().last(), Some(&vec![7]));
    }

    #[test]
    fn a_leader_dropped_mid_write_lets_its_batch_write_itself_and_passes_the_lead() {
        let gc = GroupCommit::new(2);
        let log = Log::new();
        let mut tasks: Vec<Option<Task<'_>>> = (1..=4).map(|i| Some(Box::pin(gc.commit(i, |b| log.write(b))) as Task<'_>)).collect();
        poll_all(&mut tasks); // 1 leads; 2, 3, 4 wait
        log.batches.borrow_mut().clear();
        // 1 finishes and 2 leads with 3; then 2's task is cancelled mid-write.
        log.open.set(true);
        poll_all(&mut tasks[..1]);
        log.open.set(false);
        poll_all(&mut tasks[1..2]);
        assert_eq!(*log.batches.borrow(), vec![vec![2, 3]]);
        tasks[1] = None; // dropped mid-write
        log.open.set(true);
        poll_all(&mut tasks);
        poll_all(&mut tasks);
        let batches = log.batches.borrow();
        // 3 (whose batch was lost with its leader) writes itself; 4 led next.
        assert!(batches.contains(&vec![3]), "{batches:?}");
        assert!(batches.contains(&vec![4]), "{batches:?}");
        assert!(tasks.iter().all(Option::is_none));
        assert_eq!(gc.waiting(), 0);
    }

    #[test]
    fn a_waiter_whose_task_is_gone_is_skipped_when_the_lead_passes() {
        let gc = GroupCommit::new(1);
        let log = Log::new();
        let mut tasks: Vec<Option<Task<'_>>> = (1..=3).map(|i| Some(Box::pin(gc.commit(i, |b| log.write(b))) as Task<'_>)).collect();
        poll_all(&mut tasks);
        tasks[1] = None; // 2's task is cancelled while it waits
        log.open.set(true);
        poll_all(&mut tasks);
        poll_all(&mut tasks);
        assert_eq!(*log.batches.borrow(), vec![vec![1], vec![3]]);
        assert!(tasks.iter().all(Option::is_none));
        // Nobody is left waiting and the next caller leads.
        let mut more: Vec<Option<Task<'_>>> = vec![Some(Box::pin(gc.commit(9, |b| log.write(b))))];
        poll_all(&mut more);
        assert!(more[0].is_none());
    }
}
