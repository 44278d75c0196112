//! The current context of native Rust code: a tokio task-local scope for async servers (one
//! per request, so concurrent requests cannot see each other's context), and a thread-local
//! one for plain threads and scripts.
//!
//! Invariant: the tenant, customer and run id belong to the run (`scope` starts one and
//! everything inside shares them); the section path belongs to the code that entered the
//! section (a guard, or a future wrapped by `with_section`) and ends with it.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use llmobserve_core::attribution::{AttributionError, SectionPath};

use crate::context::Context;

/// What the current scope holds: the run's fields (shared by every section of the run) and
/// this scope's section path.
#[derive(Clone, Debug, Default)]
struct Current {
    run: Arc<Mutex<Context>>,
    section: Option<SectionPath>,
}

impl Current {
    #[cfg(feature = "tokio")]
    fn from_context(ctx: Context) -> Current {
        let section = ctx.section_path().cloned();
        Current { run: Arc::new(Mutex::new(ctx.with_section_path(None))), section }
    }

    fn snapshot(&self) -> Context {
        // A poisoned lock means a panic elsewhere mid-update of an immutable value swap: the
        // value itself is still a whole, valid context.
        let run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
        run.with_section_path(self.section.clone())
    }

    fn update_run(&self, f: impl FnOnce(&Context) -> Result<Context, AttributionError>) -> Result<(), AttributionError> {
        let mut run = self.run.lock().unwrap_or_else(PoisonError::into_inner);
        *run = f(&run)?;
        Ok(())
    }
}

thread_local! {
    static THREAD: RefCell<Current> = RefCell::new(Current::default());
}

#[cfg(feature = "tokio")]
tokio::task_local! {
    static TASK: RefCell<Current>;
}

/// Runs `f` on the current scope: the task's when inside `scope`, else the thread's.
/// No user code runs inside `f`, so the `RefCell` is never borrowed twice.
fn with_current<R>(f: impl FnOnce(&mut Current) -> R) -> R {
    #[cfg(feature = "tokio")]
    if TASK.try_with(|_| ()).is_ok() {
        // Present a moment ago in this same synchronous call, so `with` finds it.
        return TASK.with(|cell| f(&mut cell.borrow_mut()));
    }
    THREAD.with(|cell| f(&mut cell.borrow_mut()))
}

/// The context of the code that is running now.
pub fn current() -> Context {
    with_current(|c| c.snapshot())
}

/// The `x-llmobserve-*` headers of the current context, as (name, value) pairs for any HTTP
/// client: `for (k, v) in llmobserve_sdk::headers() { req = req.header(k, v) }`.
pub fn headers() -> Vec<(String, String)> {
    current().headers()
}

/// Sets the tenant of the current run (every section of the run sees it).
pub fn set_tenant_id(tenant: &str) -> Result<(), AttributionError> {
    with_current(|c| c.update_run(|run| run.with_tenant(tenant)))
}

/// Sets the customer of the current run (every section of the run sees it).
pub fn set_customer_id(customer: &str) -> Result<(), AttributionError> {
    with_current(|c| c.update_run(|run| run.with_customer(customer)))
}

/// Sets a free-form property of the current run (`None` removes it); every call of the run
/// sends it as `x-llmobserve-property-<name>`.
pub fn set_property(name: &str, value: Option<&str>) -> Result<(), AttributionError> {
    with_current(|c| c.update_run(|run| run.with_property(name, value)))
}

/// A fresh context for a new run: a new run id from the system clock and the OS's RNG.
pub fn new_run() -> std::io::Result<Context> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(std::io::Error::other)?;
    Context::new_run(now_ms(), &random).map_err(std::io::Error::other)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Enters section `name` until the guard is dropped. Inside a `scope` the section is the
/// task's, so the guard may be held across `.await`. Outside one it is the thread's: do not
/// hold it across `.await` there. Sub-futures that run concurrently inside one task (`join!`)
/// each need their own `with_section` instead of a guard.
pub fn section(name: &str) -> Result<SectionGuard, AttributionError> {
    with_current(|c| {
        let child = c.snapshot().with_section(name)?;
        let previous = std::mem::replace(&mut c.section, child.section_path().cloned());
        Ok(SectionGuard { previous })
    })
}

/// The section entered by [`section`]; dropping it returns to the enclosing section.
#[must_use = "the section ends as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SectionGuard {
    previous: Option<SectionPath>,
}

impl Drop for SectionGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        with_current(|c| c.section = previous);
    }
}

#[cfg(feature = "tokio")]
pub use self::tokio_scope::*;

#[cfg(feature = "tokio")]
mod tokio_scope {
    use std::cell::RefCell;
    use std::future::Future;
    use std::time::Duration;

    use llmobserve_core::attribution::AttributionError;

    use super::{current, with_current, Current, TASK};
    use crate::context::Context;
    use crate::retry::RetryPolicy;

    /// Runs `fut` as a run with context `ctx`: what an async server does once per request,
    /// usually with `new_run()?`. Code inside sees `ctx` through `current()`, `headers()`,
    /// `section` and `set_*`, and no other task can. A task spawned inside does not inherit
    /// it: `tokio::spawn(scope(current(), fut))`.
    pub async fn scope<F: Future>(ctx: Context, fut: F) -> F::Output {
        TASK.scope(RefCell::new(Current::from_context(ctx)), fut).await
    }

    /// Runs `fut` one section deeper, sharing the run (tenant, customer, run id). Safe for
    /// sub-futures polled concurrently in one task, where a guard is not.
    pub async fn with_section<F: Future>(name: &str, fut: F) -> Result<F::Output, AttributionError> {
        let child = enter(|ctx| ctx.with_section(name))?;
        Ok(TASK.scope(RefCell::new(child), fut).await)
    }

    fn enter(f: impl FnOnce(&Context) -> Result<Context, AttributionError>) -> Result<Current, AttributionError> {
        with_current(|c| {
            let child = f(&c.snapshot())?;
            Ok(Current { run: c.run.clone(), section: child.section_path().cloned() })
        })
    }

    /// What to do after a failed attempt.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RetryAdvice {
        /// Give up: the error is returned.
        Stop,
        /// Try again after the policy's backoff.
        Retry,
        /// Try again after this many milliseconds (the server's `retry-after`), capped by the policy.
        RetryAfterMs(u64),
    }

    impl RetryAdvice {
        /// The usual advice for an HTTP status and its `retry-after-ms` / `retry-after` headers.
        pub fn for_status(status: u16, retry_after_ms: Option<&str>, retry_after: Option<&str>) -> RetryAdvice {
            if !crate::retry::retryable_status(status) {
                return RetryAdvice::Stop;
            }
            match crate::retry::retry_after_ms(retry_after_ms, retry_after) {
                Some(ms) => RetryAdvice::RetryAfterMs(ms),
                None => RetryAdvice::Retry,
            }
        }
    }

    /// Why a retry block ended without a result.
    #[derive(Debug)]
    pub enum RetryError<E> {
        /// The block's name cannot be a section (nothing was attempted).
        Invalid(AttributionError),
        /// The last attempt's error, after `attempts` attempts.
        Failed { attempts: u32, error: E },
    }

    impl<E: std::fmt::Display> std::fmt::Display for RetryError<E> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                RetryError::Invalid(e) => write!(f, "{e}"),
                RetryError::Failed { attempts, error } => write!(f, "failed after {attempts} attempt(s): {error}"),
            }
        }
    }

    impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for RetryError<E> {}

    /// Runs `attempt(n)` for n = 1, 2, ... each inside the section
    /// `retry:<name>:attempt_<n>`, until it succeeds, `advise` says stop, or the policy's
    /// attempts are used up; waits between attempts as the policy and `advise` say.
    pub async fn retry_block<T, E, F, Fut>(
        name: &str,
        policy: RetryPolicy,
        mut attempt: F,
        advise: impl Fn(&E) -> RetryAdvice,
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // Checks the name once, for the longest attempt number, before anything runs.
        current().with_retry_attempt(name, policy.max_attempts()).map_err(RetryError::Invalid)?;
        let mut n = 1;
        loop {
            let scope = enter(|ctx| ctx.with_retry_attempt(name, n)).map_err(RetryError::Invalid)?;
            let error = match TASK.scope(RefCell::new(scope), attempt(n)).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let advice = advise(&error);
            if n >= policy.max_attempts() || advice == RetryAdvice::Stop {
                return Err(RetryError::Failed { attempts: n, error });
            }
            let after = match advice {
                RetryAdvice::RetryAfterMs(ms) => Some(ms),
                _ => None,
            };
            let jitter = getrandom::u32().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(policy.delay_ms(n, jitter, after))).await;
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_unwind_on_the_thread() {
        std::thread::spawn(|| {
            set_tenant_id("acme-corp").unwrap();
            assert_eq!(current().section(), None);
            {
                let _a = section("agent:a").unwrap();
                {
                    let _b = section("tool:b").unwrap();
                    set_customer_id("alice").unwrap();
                    assert_eq!(current().section(), Some("agent:a/tool:b"));
                }
                assert_eq!(current().section(), Some("agent:a"));
                assert_eq!(current().customer(), Some("alice"), "the customer is the run's, not the section's");
            }
            assert_eq!(current().section(), None);
            assert!(section("a b").is_err());
            assert!(set_tenant_id("").is_err());
            assert_eq!(current().tenant(), Some("acme-corp"), "a refused value changes nothing");
            assert!(headers().iter().any(|(k, v)| *k == "x-llmobserve-tenant" && v == "acme-corp"));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn threads_do_not_share_a_context() {
        let a = std::thread::spawn(|| {
            set_tenant_id("a").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            current().tenant().map(str::to_owned)
        });
        let b = std::thread::spawn(|| {
            set_tenant_id("b").unwrap();
            current().tenant().map(str::to_owned)
        });
        assert_eq!(a.join().unwrap().as_deref(), Some("a"));
        assert_eq!(b.join().unwrap().as_deref(), Some("b"));
    }

    #[test]
    fn new_runs_get_distinct_run_ids() {
        let (a, b) = (new_run().unwrap(), new_run().unwrap());
        assert_ne!(a.run_id(), b.run_id());
        assert!(a.run_id().is_some());
    }
}
