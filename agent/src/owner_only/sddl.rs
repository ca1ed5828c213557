//! The Windows security descriptors that mean "owner-only", as SDDL, and the check that reads
//! one back. Plain text, so it is tested on every platform; `windows.rs` applies it.
//!
//! On Windows "owner-only" means SYSTEM and the Administrators group, nobody else, and the owner
//! is set too, not only the DACL: an object's owner may always rewrite its DACL, so a
//! non-administrator who created `%ProgramData%\tsunagi` before the install would otherwise keep
//! the power to open it up again. The owner is the Administrators group (`BA`), not SYSTEM: the
//! group is in the token of SYSTEM and of an elevated administrator as a possible owner, so both
//! may set it without SeRestorePrivilege; `OW` (owner rights) is not granted, so whoever owns a
//! file gets no access from being its owner alone.

/// A directory: owner Administrators; a protected DACL (nothing inherited from the parent)
/// giving full control to SYSTEM (`SY`) and the Administrators group (`BA`) only. `OICI`: files
/// and directories created inside inherit the entries.
pub const DIRECTORY: &str = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

/// The same for a single file (inheritance flags mean nothing on a file).
pub const FILE: &str = "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)";

/// The trustees that may own an owner-only object or be allowed in its DACL: SYSTEM and the
/// Administrators group, by alias or by SID (Windows writes the alias when reading back).
const ALLOWED: &[&str] = &["SY", "BA", "S-1-5-18", "S-1-5-32-544"];

/// The owner named by a descriptor's text (`O:…`), when it has one.
pub fn owner(sddl: &str) -> Option<&str> {
    let rest = sddl.strip_prefix("O:")?;
    // The owner ends where the group (`G:`) or the DACL (`D:`) begins; neither letter occurs
    // in an alias or a SID string.
    rest.split(['G', 'D']).next().filter(|o| !o.is_empty())
}

/// Whether the descriptor's owner is SYSTEM or the Administrators group.
pub fn owner_is_allowed(sddl: &str) -> bool {
    owner(sddl).is_some_and(|o| ALLOWED.contains(&o))
}

/// Whether `sddl` (owner and DACL, `O:…D:…`) is owner-only: owned by SYSTEM or Administrators,
/// the DACL protected, and every allow entry naming SYSTEM or Administrators. Deny entries are
/// fine.
pub fn is_owner_only(sddl: &str) -> bool {
    owner_is_allowed(sddl) && dacl_is_owner_only(sddl)
}

fn dacl_is_owner_only(sddl: &str) -> bool {
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
        .all(allowed_entry)
}

/// One ACE `type;flags;rights;object;inherit_object;trustee`.
fn allowed_entry(ace: &str) -> bool {
    let fields: Vec<&str> = ace.split(';').collect();
    let (Some(kind), Some(trustee)) = (fields.first(), fields.get(5)) else {
        return false;
    };
    match *kind {
        "D" | "OD" => true,
        "A" | "OA" => ALLOWED.contains(trustee),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_descriptors_are_owner_only_and_owned_by_administrators() {
        assert!(is_owner_only(DIRECTORY));
        assert!(is_owner_only(FILE));
        assert_eq!(owner(DIRECTORY), Some("BA"));
        assert_eq!(owner(FILE), Some("BA"));
        for sddl in [DIRECTORY, FILE] {
            assert!(!sddl.contains(";OW)"), "no owner-rights entry: {sddl}");
        }
    }

    #[test]
    fn what_windows_reads_back_is_owner_only() {
        // Inherited by a file the service created inside (auto-inherited, SYSTEM the owner).
        assert!(is_owner_only("O:SYD:PAI(A;ID;FA;;;SY)(A;ID;FA;;;BA)"));
        // The owner and trustees by SID.
        assert!(is_owner_only(
            "O:S-1-5-32-544G:SYD:P(A;;FA;;;S-1-5-18)(A;;FA;;;S-1-5-32-544)"
        ));
        // Deny entries take nothing away from the rule.
        assert!(is_owner_only("O:BAD:P(A;;FA;;;SY)(D;;FA;;;WD)"));
    }

    #[test]
    fn an_inherited_or_wider_dacl_is_not() {
        // Not protected: entries from the parent would apply too.
        assert!(!is_owner_only("O:BAD:(A;;FA;;;SY)"));
        // Everyone, Users, Authenticated Users may read.
        assert!(!is_owner_only("O:BAD:P(A;;FA;;;SY)(A;;FR;;;WD)"));
        assert!(!is_owner_only("O:BAD:P(A;;FA;;;SY)(A;;FR;;;BU)"));
        assert!(!is_owner_only("O:BAD:P(A;;FA;;;SY)(A;;FR;;;AU)"));
        // Another account by SID, or owner rights granted to whoever owns it.
        let other = "S-1-5-21-1-2-3-1001";
        assert!(!is_owner_only(&format!("O:BAD:P(A;;FA;;;{other})")));
        assert!(!is_owner_only("O:BAD:P(A;;FA;;;SY)(A;;FA;;;OW)"));
        // No DACL part at all.
        assert!(!is_owner_only("O:BAG:SY"));
    }

    #[test]
    fn a_folder_someone_else_owns_is_not_even_with_our_dacl() {
        // A non-administrator created %ProgramData%\tsunagi first: as its owner they could
        // rewrite the DACL at any time.
        let planted = "O:S-1-5-21-1-2-3-1001D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
        assert_eq!(owner(planted), Some("S-1-5-21-1-2-3-1001"));
        assert!(!owner_is_allowed(planted));
        assert!(!is_owner_only(planted));
        // No owner in the text: cannot tell, so not owner-only.
        assert!(!is_owner_only("D:P(A;;FA;;;SY)"));
    }
}
