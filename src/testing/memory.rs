//! Inspection of a [`MemoryStore`]: what it holds, expired or not.

use crate::key::SessionKey;
use crate::store::MemoryStore;
use crate::store::Record;

impl MemoryStore {
    /// The raw record under `key`, expired or not.
    pub fn raw(&self, key: &SessionKey) -> Option<Record> {
        self.records().get(key.as_str()).cloned()
    }

    /// How many records are held, expired or not.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
