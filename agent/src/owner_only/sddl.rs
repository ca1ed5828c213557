//! The Windows security descriptors that mean "owner-only", as SDDL, and the check that reads
//! one back. Plain text, so it is tested on every platform; `windows.rs` applies it.

/// A protected DACL (nothing inherited from the parent) giving full control to SYSTEM (`SY`),
/// the Administrators group (`BA`) and the owner (`OW`: the account that created the object,
/// i.e. the service's). `OICI`: files and directories created inside inherit it.
pub const DIRECTORY: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)";

/// The same for a single file (inheritance flags mean nothing on a file).
pub const FILE: &str = "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)";

/// The trustees allowed to appear in an owner-only DACL. `owner` is the owner's SID string
/// (Windows writes the owner's own SID where `OW` was granted to it).
const ALLOWED: &[&str] = &["SY", "BA", "OW"];

/// Whether `sddl` (the DACL part of a descriptor, `D:…`) is owner-only: protected, and every
/// allow entry names SYSTEM, Administrators, the owner or `owner_sid`. Deny entries are fine.
pub fn is_owner_only(sddl: &str, owner_sid: Option<&str>) -> bool {
    let Some(dacl) = sddl.split_once("D:").map(|(_, d)| d) else {
        return false;
    };
    let (flags, aces) = dacl.split_at(dacl.find('(').unwrap_or(dacl.len()));
    if !flags.contains('P') {
        return false;
    }
    aces.split(')')
        .map(|a| a.trim_start_matches('('))
        .filter(|a| !a.is_empty())
        .all(|ace| allowed_entry(ace, owner_sid))
}

/// One ACE `type;flags;rights;object;inherit_object;trustee`.
fn allowed_entry(ace: &str, owner_sid: Option<&str>) -> bool {
    let fields: Vec<&str> = ace.split(';').collect();
    let (Some(kind), Some(trustee)) = (fields.first(), fields.get(5)) else {
        return false;
    };
    match *kind {
        "D" | "OD" => true,
        "A" | "OA" => ALLOWED.contains(trustee) || Some(*trustee) == owner_sid,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_descriptors_are_owner_only() {
        assert!(is_owner_only(DIRECTORY, None));
        assert!(is_owner_only(FILE, None));
    }

    #[test]
    fn an_inherited_or_wider_dacl_is_not() {
        // Not protected: entries from the parent would apply too.
        assert!(!is_owner_only("D:(A;;FA;;;SY)", None));
        // Everyone, Users, Authenticated Users may read.
        assert!(!is_owner_only("D:P(A;;FA;;;SY)(A;;FR;;;WD)", None));
        assert!(!is_owner_only("D:P(A;;FA;;;SY)(A;;FR;;;BU)", None));
        assert!(!is_owner_only("D:P(A;;FA;;;SY)(A;;FR;;;AU)", None));
        // Another account by SID.
        let other = "S-1-5-21-1-2-3-1001";
        assert!(!is_owner_only(&format!("D:P(A;;FA;;;{other})"), None));
        // No DACL part at all.
        assert!(!is_owner_only("O:BAG:SY", None));
    }

    #[test]
    fn the_owner_by_sid_and_deny_entries_are_allowed() {
        let me = "S-1-5-21-1-2-3-1001";
        let read_back = format!("O:{me}D:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;{me})(D;;FA;;;WD)");
        assert!(is_owner_only(&read_back, Some(me)));
    }
}
