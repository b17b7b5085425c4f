//! What a user record says its key bags were given (`SignedPart::given`): the newest epoch of
//! each rotating key, carried forward from revision to revision, so the leaver rule can tell a
//! leaving already answered from one that came after a new key bag (docs/FORMAT.md, "Rotating the
//! call key").

use super::{callkey, ArchiveSecrets, SignedPart};
use crate::archive::Archive;
use crate::crypto;
use std::collections::BTreeMap;

/// The `given` of a record whose key bag is `bag`: the previous revision's (`prev`), raised to
/// the epoch of each rotating key's seed in `bag` (found by its public key among the epochs on
/// the share; 0, the archive's first key, if none matches).
pub(super) fn given_with(
    archive: &Archive,
    bag: &ArchiveSecrets,
    from: &[&ArchiveSecrets],
    prev: Option<&SignedPart>,
) -> BTreeMap<String, u32> {
    let mut given = prev.map(|p| p.given.clone()).unwrap_or_default();
    for name in callkey::ROTATING {
        let Some(seed) = bag.get(name) else {
            continue;
        };
        // The epoch the writer's session took the seed at (its believed chain), else the chain
        // on the share read on its proofs.
        let known = from
            .iter()
            .filter_map(|s| s.1.get(name))
            .flat_map(|seeds| seeds.iter())
            .find(|(_, k)| k.expose() == seed.expose())
            .map(|(e, _)| *e);
        let public = crypto::x25519_public(seed);
        let epoch = known
            .or_else(|| {
                callkey::read_key(archive, name, None).ok().and_then(|c| {
                    (0..=c.current())
                        .rev()
                        .find(|e| c.public(archive, *e).ok() == Some(public))
                })
            })
            .unwrap_or(0);
        let g = given.entry(name.to_string()).or_insert(epoch);
        *g = (*g).max(epoch);
    }
    given
}
