//! Group commit for a single-threaded runtime (one Worker isolate): callers that want an
//! item written at about the same time share one write.
//!
//! A caller that finds nobody writing leads: it writes its own item with everything
//! waiting, then keeps writing what arrived meanwhile, up to [`MAX_ROUNDS`] batches.
//! A caller that finds a write in flight waits for a leader to write its item.
//!
//! Only a leader does I/O, and only from its own task. This matters in a Worker: each
//! request has its own I/O context, and a task woken by another request's task runs in
//! that other request's context, where new I/O would belong to the wrong request (and
//! dies with it). So a waiter acts only when its own timer (`patience`, a future made in
//! its own task) wakes it: if its item was written, it returns then (its task ends in its
//! own context, timer included); if its item is still waiting, it leads. That also rescues items left waiting by a leader that stopped after
//! [`MAX_ROUNDS`], or whose task was abandoned mid-write (a cancelled `waitUntil` is
//! never polled again): a leader that made no progress during a waiter's patience no
//! longer counts.
//!
//! A new leader first waits `linger` (a future made in its own task, like `patience`)
//! so that the items of calls close behind it join its first write: at a steady rate of
//! calls one write then carries several, where without it each call, alone at its moment,
//! would cost a write of its own. Pass a ready future for no wait. Under load the writes
//! coalesce anyway. A caller that finds a leader lingering with room in its first batch
//! hands its item over and returns at once, without a timer: that batch is certain to
//! take it, and its write depends on the leader's task as every batched item does. Items are handed to `write` as shared references so that a waiter keeps its
//! own; `write` handles its own failures.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;

use futures_channel::oneshot;
use futures_util::future::{select, Either};

/// Batches one leader writes at most before it stops leading.
pub const MAX_ROUNDS: usize = 4;

struct State<T> {
    /// Leaders writing now (normally 0 or 1).
    leaders: usize,
    /// Batches written so far: a waiter sees whether a leader made progress.
    progress: u64,
    /// Items waiting, each with the channel that tells its caller it was written (none
    /// for an item handed to a lingering leader).
    waiting: VecDeque<(u64, Rc<T>, Option<oneshot::Sender<()>>)>,
    /// A new leader is waiting for company before its first write.
    lingering: bool,
    next_ticket: u64,
}

/// A group-commit point; see the module documentation.
pub struct GroupCommit<T> {
    state: RefCell<State<T>>,
    max_batch: usize,
}

impl<T> GroupCommit<T> {
    /// A group commit writing at most `max_batch` (at least 1) items at a time.
    pub fn new(max_batch: usize) -> Self {
        GroupCommit {
            state: RefCell::new(State { leaders: 0, progress: 0, waiting: VecDeque::new(), lingering: false, next_ticket: 0 }),
            max_batch: max_batch.max(1),
        }
    }

    /// Items waiting for a write (not counting a batch in flight).
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    /// Hands `item` to a leader that is lingering with room in its first batch, which is
    /// then certain to write it; the caller need not wait (nor keep a task alive) for that.
    /// `Err(item)` when there is no such leader: call [`GroupCommit::commit`].
    pub fn hand_over(&self, item: Rc<T>) -> Result<(), Rc<T>> {
        let mut s = self.state.borrow_mut();
        if !Self::can_hand_over(&s, self.max_batch) {
            return Err(item);
        }
        Self::push_handed_over(&mut s, item);
        Ok(())
    }

    /// A leader lingers, and its first batch (its own item and up to max_batch - 1 more)
    /// has room for one more.
    fn can_hand_over(s: &State<T>, max_batch: usize) -> bool {
        s.leaders > 0 && s.lingering && s.waiting.len() + 1 < max_batch
    }

    fn push_handed_over(s: &mut State<T>, item: Rc<T>) {
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.waiting.push_back((ticket, item, None));
    }

    /// A waiter out of patience takes its item back to lead with it, unless a leader has
    /// taken it already. A leader that made no progress since the waiter came is dead.
    fn take_back(&self, ticket: u64, progress_then: u64) -> bool {
        let mut s = self.state.borrow_mut();
        let Some(at) = s.waiting.iter().position(|(t, _, _)| *t == ticket) else { return false };
        s.waiting.remove(at);
        if s.progress == progress_then {
            s.leaders = 0;
        }
        s.leaders += 1;
        true
    }

    /// Writes `item`, alone or in a batch with others, with `write`. Returns once a write
    /// that included the item has ended. `patience` resolves when this caller stops
    /// waiting for others and writes itself; `linger` is how long it waits for company when
    /// it leads. Make both in the caller's own task (they are polled only if needed), and
    /// keep `linger` well below `patience`: a waiter whose patience runs out before its
    /// leader's first write takes its item back.
    pub async fn commit<W, F, P, L>(&self, item: Rc<T>, patience: P, linger: L, write: W)
    where
        W: Fn(Vec<Rc<T>>) -> F,
        F: Future<Output = ()>,
        P: Future<Output = ()>,
        L: Future<Output = ()>,
    {
        let wait = {
            let mut s = self.state.borrow_mut();
            if s.leaders == 0 {
                s.leaders += 1;
                None
            } else if Self::can_hand_over(&s, self.max_batch) {
                Self::push_handed_over(&mut s, item);
                return;
            } else {
                let ticket = s.next_ticket;
                s.next_ticket += 1;
                let (tx, rx) = oneshot::channel();
                s.waiting.push_back((ticket, Rc::clone(&item), Some(tx)));
                Some((ticket, rx, s.progress))
            }
        };
        let new_leader = wait.is_none();
        let first = match wait {
            None => vec![item],
            Some((ticket, rx, progress_then)) => match select(rx, pin!(patience)).await {
                // Written by a leader. We were woken from the leader's task: return only
                // once our own timer wakes us, so that our task ends in its own context.
                Either::Left((Ok(()), patience)) => {
                    patience.await;
                    return;
                }
                // The leader's task was dropped mid-write with our item. We were woken from
                // its task: write our item once our own timer has woken us.
                Either::Left((Err(oneshot::Canceled), patience)) => {
                    patience.await;
                    self.state.borrow_mut().leaders += 1;
                    vec![item]
                }
                Either::Right(((), rx)) => {
                    if !self.take_back(ticket, progress_then) {
                        // A leader has taken it; its write is in flight. (Should that leader's
                        // task be dropped mid-write, we would be woken from it and could not
                        // write: Workers never drop a pending task, they abandon it.)
                        let _ = rx.await;
                        return;
                    }
                    vec![item]
                }
            },
        };
        let _lead = Lead { gc: self };
        if new_leader {
            self.state.borrow_mut().lingering = true;
            linger.await;
            self.state.borrow_mut().lingering = false;
        }
        let mut batch = first;
        for _ in 0..MAX_ROUNDS {
            let done = {
                let mut s = self.state.borrow_mut();
                let n = s.waiting.len().min(self.max_batch - batch.len());
                s.waiting.drain(..n).filter_map(|(_, i, tx)| { batch.push(i); tx }).collect::<Vec<_>>()
            };
            if batch.is_empty() {
                break;
            }
            write(std::mem::take(&mut batch)).await;
            self.state.borrow_mut().progress += 1;
            for tx in done {
                // A waiter that is gone needs no answer.
                let _ = tx.send(());
            }
        }
    }
}

/// A leader's turn; ends when the leader returns or its task is dropped.
struct Lead<'a, T> {
    gc: &'a GroupCommit<T>,
}

impl<T> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        let mut s = self.gc.state.borrow_mut();
        s.leaders = s.leaders.saturating_sub(1);
        // A leader dropped while lingering: what was handed to it waits for the next leader.
        s.lingering = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    /// A future that stays pending until its flag is set.
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

    /// The `k`th write (0-based): done once more than `k` writes are allowed to finish.
    struct Write(usize, Rc<Cell<usize>>);
    impl Future for Write {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.1.get() > self.0 {
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

    struct World {
        batches: RefCell<Vec<Vec<u32>>>,
        /// How many writes (the first ones) may finish.
        allowed: Rc<Cell<usize>>,
        /// Every caller's patience runs out when set.
        impatient: Rc<Cell<bool>>,
        /// A new leader's linger is over when set.
        lingered: Rc<Cell<bool>>,
    }

    impl World {
        fn new() -> Self {
            World {
                batches: RefCell::new(Vec::new()),
                allowed: Rc::new(Cell::new(0)),
                impatient: Rc::new(Cell::new(false)),
                lingered: Rc::new(Cell::new(true)),
            }
        }
        fn write(&self, items: Vec<Rc<u32>>) -> Write {
            let mut b = self.batches.borrow_mut();
            b.push(items.iter().map(|i| **i).collect());
            Write(b.len() - 1, Rc::clone(&self.allowed))
        }
        fn open(&self) {
            self.allowed.set(usize::MAX);
        }
        fn task<'a>(&'a self, gc: &'a GroupCommit<u32>, i: u32) -> Option<Task<'a>> {
            let (patience, linger) = (Gate(Rc::clone(&self.impatient)), Gate(Rc::clone(&self.lingered)));
            Some(Box::pin(gc.commit(Rc::new(i), patience, linger, move |b| self.write(b))))
        }
    }

    #[test]
    fn a_caller_alone_is_written_at_once() {
        let gc = GroupCommit::new(10);
        let w = World::new();
        w.open();
        let mut tasks = vec![w.task(&gc, 1)];
        poll_all(&mut tasks);
        assert!(tasks[0].is_none());
        assert_eq!(*w.batches.borrow(), vec![vec![1]]);
        assert_eq!(gc.waiting(), 0);
    }

    #[test]
    fn callers_arriving_while_a_new_leader_lingers_hand_over_and_share_its_first_write() {
        let gc = GroupCommit::new(3);
        let w = World::new();
        w.open();
        w.lingered.set(false);
        let mut tasks: Vec<_> = (1..=4).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        assert!(w.batches.borrow().is_empty(), "nothing is written while the leader lingers");
        // 2 and 3 fit in the leader's first batch: handed over, they returned at once. The
        // batch is full without 4, which waits as a caller behind a write does.
        assert!(tasks[0].is_some() && tasks[1].is_none() && tasks[2].is_none() && tasks[3].is_some());
        assert_eq!(gc.waiting(), 3);
        w.lingered.set(true);
        poll_all(&mut tasks);
        assert_eq!(*w.batches.borrow(), vec![vec![1, 2, 3], vec![4]]);
        assert!(tasks[0].is_none());
        w.impatient.set(true);
        poll_all(&mut tasks);
        assert!(tasks.iter().all(Option::is_none));
        assert_eq!(w.batches.borrow().len(), 2);
    }

    #[test]
    fn hand_over_succeeds_only_while_a_leader_lingers_with_room() {
        let gc = GroupCommit::new(3);
        let w = World::new();
        w.open();
        let hand = |i: u32| gc.hand_over(Rc::new(i)).map_err(|i| *i);
        assert_eq!(hand(9), Err(9), "no leader");
        w.lingered.set(false);
        let mut tasks = vec![w.task(&gc, 1)];
        poll_all(&mut tasks);
        assert_eq!(hand(2), Ok(()));
        assert_eq!(hand(3), Ok(()));
        assert_eq!(hand(4), Err(4), "the first batch is full");
        w.lingered.set(true);
        poll_all(&mut tasks);
        assert!(tasks[0].is_none());
        assert_eq!(*w.batches.borrow(), vec![vec![1, 2, 3]]);
        assert_eq!(hand(5), Err(5), "the leader is gone");
    }

    #[test]
    fn what_a_leader_dropped_while_lingering_held_goes_with_the_next_leader() {
        let gc = GroupCommit::new(10);
        let w = World::new();
        w.open();
        w.lingered.set(false);
        let mut tasks: Vec<_> = (1..=3).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        assert!(tasks[1].is_none() && tasks[2].is_none(), "handed over");
        tasks[0] = None; // its task was dropped: item 1 is lost with it
        assert_eq!(gc.waiting(), 2);
        w.lingered.set(true);
        let mut next = vec![w.task(&gc, 4)];
        poll_all(&mut next);
        assert!(next[0].is_none());
        assert_eq!(*w.batches.borrow(), vec![vec![4, 2, 3]]);
        assert_eq!(gc.waiting(), 0);
    }

    #[test]
    fn callers_arriving_during_a_write_are_written_by_the_leader_in_batches() {
        let gc = GroupCommit::new(3);
        let w = World::new();
        let mut tasks: Vec<_> = (1..=6).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        // 1 leads alone; 2..6 wait.
        assert_eq!(*w.batches.borrow(), vec![vec![1]]);
        assert_eq!(gc.waiting(), 5);
        w.open();
        poll_all(&mut tasks);
        // The leader wrote everything; its waiters wait for their own timers to return.
        assert_eq!(*w.batches.borrow(), vec![vec![1], vec![2, 3, 4], vec![5, 6]]);
        assert!(tasks[0].is_none() && tasks[1..].iter().all(Option::is_some));
        w.impatient.set(true);
        poll_all(&mut tasks);
        assert!(tasks.iter().all(Option::is_none), "every caller returned");
        assert_eq!(w.batches.borrow().len(), 3, "and wrote nothing more");
        w.impatient.set(false);
        assert_eq!(gc.waiting(), 0);
        // Idle again: the next caller leads at once.
        let mut more = vec![w.task(&gc, 7)];
        poll_all(&mut more);
        assert!(more[0].is_none());
        assert_eq!(w.batches.borrow().last(), Some(&vec![7]));
    }

    #[test]
    fn a_leader_writes_at_most_max_rounds_batches_and_new_callers_take_over() {
        let gc = GroupCommit::new(1);
        let w = World::new();
        let n = MAX_ROUNDS as u32 + 2;
        let mut tasks: Vec<_> = (1..=n).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        w.open();
        poll_all(&mut tasks);
        // Leader 1 wrote MAX_ROUNDS batches of one and stopped; two items still wait.
        assert_eq!(w.batches.borrow().len(), MAX_ROUNDS);
        assert!(tasks[0].is_none());
        assert_eq!(gc.waiting(), 2);
        // A new caller leads and writes them with its own.
        let mut more = vec![w.task(&gc, 100)];
        poll_all(&mut more);
        w.impatient.set(true);
        poll_all(&mut tasks);
        assert!(more[0].is_none());
        assert!(tasks.iter().all(Option::is_none));
        let all: Vec<u32> = w.batches.borrow().iter().flatten().copied().collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=n).chain([100]).collect::<Vec<_>>(), "each item written once");
    }

    #[test]
    fn a_waiter_left_behind_writes_itself_when_its_patience_runs_out() {
        let gc = GroupCommit::new(1);
        let w = World::new();
        let n = MAX_ROUNDS as u32 + 1;
        let mut tasks: Vec<_> = (1..=n).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        w.open();
        poll_all(&mut tasks);
        assert_eq!(gc.waiting(), 1, "the leader stopped after MAX_ROUNDS");
        w.impatient.set(true);
        poll_all(&mut tasks);
        poll_all(&mut tasks);
        assert!(tasks.iter().all(Option::is_none));
        assert_eq!(w.batches.borrow().last(), Some(&vec![n]));
        assert_eq!(gc.waiting(), 0);
    }

    #[test]
    fn an_abandoned_leader_does_not_block_the_rest() {
        let gc = GroupCommit::new(10);
        let w = World::new();
        let mut tasks: Vec<_> = (1..=3).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks);
        // 1 leads and its write never ends, and its task is never polled again (a cancelled
        // waitUntil): it is not dropped either, so it still counts as a leader.
        let abandoned = tasks[0].take();
        w.impatient.set(true);
        poll_all(&mut tasks);
        poll_all(&mut tasks);
        // 2 and 3 ran out of patience, saw no progress, and wrote themselves.
        let b = w.batches.borrow().clone();
        assert_eq!(b[0], vec![1]);
        assert!(b[1..].iter().flatten().copied().collect::<Vec<_>>().len() == 2, "{b:?}");
        w.open();
        poll_all(&mut tasks);
        assert!(tasks.iter().all(Option::is_none), "{b:?}");
        drop(abandoned);
        // With everything done and the abandoned task gone, the next caller leads at once.
        w.impatient.set(false);
        let mut more = vec![w.task(&gc, 4)];
        poll_all(&mut more);
        assert!(more[0].is_none());
    }

    #[test]
    fn a_leader_dropped_mid_write_lets_its_batch_write_itself() {
        let gc = GroupCommit::new(10);
        let w = World::new();
        let mut tasks: Vec<_> = (1..=3).map(|i| w.task(&gc, i)).collect();
        poll_all(&mut tasks); // 1 leads, 2 and 3 wait
        w.allowed.set(1);
        poll_all(&mut tasks[..1]); // 1 writes [1], then takes [2, 3] and starts writing them
        assert_eq!(*w.batches.borrow(), vec![vec![1], vec![2, 3]]);
        tasks[0] = None; // dropped mid-write
        w.open();
        poll_all(&mut tasks);
        assert_eq!(w.batches.borrow().len(), 2, "woken from the dropped task, they wait for their own timers");
        w.impatient.set(true);
        poll_all(&mut tasks);
        poll_all(&mut tasks);
        assert!(tasks.iter().all(Option::is_none));
        let b = w.batches.borrow();
        assert_eq!(b.len(), 4, "{b:?}");
        assert!(b.contains(&vec![2]) && b.contains(&vec![3]), "{b:?}");
    }
}
