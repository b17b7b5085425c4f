//! What the index keeps of this device's own, outside the journal: the audit heads seen at the
//! last verification, and each user's preferences (personal data, so here in the encrypted index
//! rather than in web storage or plain files).

use super::open::Index;
use crate::error::Result;

impl Index {
    /// The audit heads this device saw at its last verification (device, files, last hash).
    pub async fn audit_heads(&self) -> Result<Vec<(String, i64, String)>> {
        Ok(
            sqlx::query_as("SELECT device, files, last_hash FROM audit_heads")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn set_audit_head(&self, device: &str, files: i64, hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO audit_heads (device, files, last_hash) VALUES (?, ?, ?)",
        )
        .bind(device)
        .bind(files)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user's preference on this device, if set.
    pub async fn preference(&self, uid: &str, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM preferences WHERE uid = ? AND key = ?")
                .bind(uid)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Set (or with `None`, forget) a user's preference on this device.
    pub async fn set_preference(&self, uid: &str, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => {
                sqlx::query("INSERT OR REPLACE INTO preferences (uid, key, value) VALUES (?, ?, ?)")
                    .bind(uid)
                    .bind(key)
                    .bind(v)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM preferences WHERE uid = ? AND key = ?")
                    .bind(uid)
                    .bind(key)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }
}
