//! `ManualClock`: a `Clock` that only moves when a test moves it.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, TimeZone, Utc};
use whatsapp_agent::ports::Clock;

pub struct ManualClock(Mutex<DateTime<Utc>>);

impl Default for ManualClock {
    fn default() -> Self {
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).single();
        Self(Mutex::new(start.expect("a valid start time")))
    }
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
