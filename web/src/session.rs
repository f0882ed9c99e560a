//! Who is signed in, and their access token.
//!
//! The access token lives in memory only (never in storage a script could read later); the
//! refresh token is an HttpOnly cookie that only the API's `/auth` endpoints ever see. On page
//! load the session asks `POST /auth/refresh` for a new access token, then `GET /me` for who
//! that is, and it refreshes again shortly before each token expires. A refresh that fails
//! with 401 (signed out elsewhere, the sign-in expired or was revoked) signs this page out.
//!
//! Only one refresh runs at a time: presenting the same refresh token twice is how the API
//! detects theft, and it answers by revoking the whole sign-in.
//!
//! So that a visitor who has never signed in costs the API nothing (and sees no 401 in the
//! console), the page only tries a refresh when this browser says it signed in before: a
//! flag in local storage that holds no secret, set on sign-in and removed on sign-out.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::identity::{LoginRequest, Me, TokenResponse};
use crate::api::{ApiClient, ApiError};
use crate::dates::now_ms;

/// Local storage key of the "this browser signed in" flag. Never a token.
const SIGNED_IN_KEY: &str = "doorstep.signed-in";
/// Refresh this long before the access token expires.
const REFRESH_AHEAD_MS: f64 = 60_000.0;
/// A token closer to expiry than this is refreshed before use rather than sent.
const MIN_VALIDITY_MS: f64 = 15_000.0;

#[derive(Debug, Clone, PartialEq)]
pub enum AuthState {
    /// The page has just loaded and is asking the API whether a sign-in is still alive.
    Checking,
    SignedOut,
    SignedIn(Box<Me>),
}

/// A message for the next page: "your sign-in is ready", "you have signed out".
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    /// The page it is for; it is dropped once the visitor leaves that page.
    pub path: String,
    pub message: String,
    /// An email address to fill in on the sign-in form.
    pub email: Option<String>,
}

#[derive(Clone)]
struct Token {
    value: String,
    expires_at_ms: f64,
}

#[derive(Clone, Copy)]
pub struct Session {
    state: RwSignal<AuthState>,
    token: StoredValue<Option<Token>>,
    /// The refresh under way, which later callers wait for instead of starting another.
    in_flight: StoredValue<Option<Rc<RefCell<Flight>>>, LocalStorage>,
    /// Bumped whenever the token changes, so that a timer set for an older token does nothing.
    generation: StoredValue<u64>,
    /// Whether the last sign-out was the visitor's own choice (rather than an expiry).
    signed_out_by_user: StoredValue<bool>,
    pub flash: RwSignal<Option<Flash>>,
}

impl Session {
    /// Creates the session, puts it in context and starts checking for a live sign-in.
    /// Call once, inside the router.
    pub fn provide() -> Self {
        let session = Session {
            state: RwSignal::new(AuthState::Checking),
            token: StoredValue::new(None),
            in_flight: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            signed_out_by_user: StoredValue::new(false),
            flash: RwSignal::new(None),
        };
        provide_context(session);
        if signed_in_before() {
            spawn_local(async move {
                match session.refresh().await {
                    Ok(token) => session.load_me(&token).await,
                    // Offline or the API is down: say signed out for now, but keep the flag so
                    // that the next page load tries again.
                    Err(_) => session.state.set(AuthState::SignedOut),
                }
            });
        } else {
            session.state.set(AuthState::SignedOut);
        }
        // Signing out in another tab removes the flag: follow it here too.
        let handle = window_event_listener(leptos::ev::storage, move |event| {
            if event.key().as_deref() == Some(SIGNED_IN_KEY) && event.new_value().is_none() {
                session.forget();
            }
        });
        on_cleanup(move || handle.remove());
        session
    }

    pub fn expect() -> Self {
        expect_context::<Session>()
    }

    /// The state, tracked.
    pub fn state(&self) -> AuthState {
        self.state.get()
    }

    /// The signed-in caller, tracked.
    pub fn me(&self) -> Option<Me> {
        self.state.with(|state| match state {
            AuthState::SignedIn(me) => Some((**me).clone()),
            _ => None,
        })
    }

    /// Signs in with email and password, then loads who that is.
    pub async fn sign_in(&self, email: String, password: String) -> Result<Me, ApiError> {
        let tokens = ApiClient::default().login(&LoginRequest { email, password }).await?;
        let token = self.keep(tokens);
        set_signed_in_before(true);
        self.signed_out_by_user.set_value(false);
        match ApiClient::default().me(&token).await {
            Ok(me) => {
                self.state.set(AuthState::SignedIn(Box::new(me.clone())));
                Ok(me)
            }
            Err(error) => {
                self.forget();
                Err(error)
            }
        }
    }

    /// Whether the visitor signed out themselves (so pages need not send them to sign in).
    pub fn signed_out_on_purpose(&self) -> bool {
        self.signed_out_by_user.get_value()
    }

    /// Ends the sign-in at the API (which clears the refresh cookie) and here.
    pub async fn sign_out(&self) -> Result<(), ApiError> {
        self.signed_out_by_user.set_value(true);
        let result = ApiClient::default().logout().await;
        // Whatever the API said, this page no longer holds a token.
        set_signed_in_before(false);
        self.forget();
        result
    }

    /// Runs `call` with a valid access token; on a 401 (the token was revoked or expired
    /// early) refreshes once and tries again.
    pub async fn authorised<T, F, Fut>(&self, call: F) -> Result<T, ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.token().await?;
        match call(token).await {
            Err(error) if error.is_unauthorized() => {
                let token = self.refresh().await?;
                call(token).await
            }
            other => other,
        }
    }

    /// An access token for a connection that cannot send headers on every request (the live
    /// WebSocket sends it once, when it opens). `fresh` asks the API for a new one, for when
    /// the last one was turned away.
    pub async fn access_token(&self, fresh: bool) -> Result<String, ApiError> {
        if fresh { self.refresh().await } else { self.token().await }
    }

    /// A usable access token: the one held, or a fresh one when it is missing or about to
    /// expire.
    async fn token(&self) -> Result<String, ApiError> {
        if let Some(token) = self.token.get_value()
            && token.expires_at_ms - now_ms() > MIN_VALIDITY_MS
        {
            return Ok(token.value);
        }
        self.refresh().await
    }

    /// Exchanges the refresh cookie for a new access token, joining a refresh already under
    /// way rather than starting a second one.
    async fn refresh(&self) -> Result<String, ApiError> {
        if let Some(flight) = self.in_flight.get_value() {
            return WaitFor(flight).await;
        }
        let flight = Rc::new(RefCell::new(Flight::default()));
        self.in_flight.set_value(Some(flight.clone()));
        let mut attempt = ApiClient::default().refresh().await;
        if attempt.as_ref().err().is_some_and(ApiError::is_conflict) {
            // Another tab refreshed a moment ago and the browser now holds its new cookie.
            sleep(std::time::Duration::from_millis(750)).await;
            attempt = ApiClient::default().refresh().await;
        }
        let result = match attempt {
            Ok(tokens) => Ok(self.keep(tokens)),
            Err(error) => {
                if error.is_unauthorized() {
                    // The sign-in is over (expired, revoked, or signed out elsewhere).
                    set_signed_in_before(false);
                    self.forget();
                }
                Err(error)
            }
        };
        self.in_flight.set_value(None);
        let wakers = {
            let mut flight = flight.borrow_mut();
            flight.result = Some(result.clone());
            std::mem::take(&mut flight.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
        result
    }

    async fn load_me(&self, token: &str) {
        match ApiClient::default().me(token).await {
            Ok(me) => self.state.set(AuthState::SignedIn(Box::new(me))),
            Err(_) => self.forget(),
        }
    }

    /// Holds a new access token and sets a timer to refresh it before it expires.
    fn keep(&self, tokens: TokenResponse) -> String {
        let lifetime_ms = (tokens.expires_in.max(0) as f64) * 1000.0;
        let token = Token { value: tokens.access_token, expires_at_ms: now_ms() + lifetime_ms };
        let value = token.value.clone();
        self.token.set_value(Some(token));
        let generation = self.bump();
        let delay = (lifetime_ms - REFRESH_AHEAD_MS).max(lifetime_ms / 2.0).max(1_000.0);
        let session = *self;
        set_timeout(
            move || {
                if session.generation.get_value() == generation {
                    spawn_local(async move {
                        let _ = session.refresh().await;
                    });
                }
            },
            Duration::from_millis(delay as u64),
        );
        value
    }

    /// Drops the token and the caller: this page is signed out.
    fn forget(&self) {
        self.token.set_value(None);
        self.bump();
        if self.state.with_untracked(|state| *state != AuthState::SignedOut) {
            self.state.set(AuthState::SignedOut);
        }
    }

    fn bump(&self) -> u64 {
        let next = self.generation.get_value().wrapping_add(1);
        self.generation.set_value(next);
        next
    }
}

/// A refresh under way: its result once known, and who is waiting for it.
#[derive(Default)]
struct Flight {
    result: Option<Result<String, ApiError>>,
    wakers: Vec<Waker>,
}

struct WaitFor(Rc<RefCell<Flight>>);

impl Future for WaitFor {
    type Output = Result<String, ApiError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut flight = self.0.borrow_mut();
        match &flight.result {
            Some(result) => Poll::Ready(result.clone()),
            None => {
                flight.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn signed_in_before() -> bool {
    storage().and_then(|s| s.get_item(SIGNED_IN_KEY).ok().flatten()).is_some()
}

fn set_signed_in_before(yes: bool) {
    if let Some(storage) = storage() {
        let _ = if yes { storage.set_item(SIGNED_IN_KEY, "1") } else { storage.remove_item(SIGNED_IN_KEY) };
    }
}

/// A path inside the app to return to after signing in (`?next=`): only a local path, so the
/// parameter cannot send anyone to another site.
pub fn safe_next(next: Option<String>) -> Option<String> {
    let next = next?;
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.contains(':');
    (local && !next.starts_with("/sign-in")).then_some(next)
}

/// Resolves after `duration`, on the browser's timer.
pub(crate) async fn sleep(duration: std::time::Duration) {
    let done = Rc::new(RefCell::new((false, None::<Waker>)));
    let timer = done.clone();
    set_timeout(
        move || {
            let mut state = timer.borrow_mut();
            state.0 = true;
            if let Some(waker) = state.1.take() {
                waker.wake();
            }
        },
        duration,
    );
    std::future::poll_fn(move |cx| {
        let mut state = done.borrow_mut();
        if state.0 {
            std::task::Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_the_app() {
        assert_eq!(safe_next(Some("/my-place".into())), Some("/my-place".into()));
        assert_eq!(
            safe_next(Some("/staff/registrations?status=pending".into())).as_deref(),
            Some("/staff/registrations?status=pending")
        );
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "my-place", "/sign-in", "/x:y"] {
            assert_eq!(safe_next(Some(bad.into())), None, "{bad}");
        }
    }
}
