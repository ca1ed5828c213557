//! Owner-only on Windows: the Administrators group as owner and a protected DACL for SYSTEM
//! and Administrators (see `sddl.rs`), set by path, and file identity from
//! `GetFileInformationByHandle`.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::sync::Once;

use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_NOT_ALL_ASSIGNED, HANDLE, LUID,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    AdjustTokenPrivileges, LookupPrivilegeValueW, SetFileSecurityW, DACL_SECURITY_INFORMATION,
    LUID_AND_ATTRIBUTES, OBJECT_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SE_PRIVILEGE_ENABLED,
    TOKEN_ADJUST_PRIVILEGES, TOKEN_PRIVILEGES, TOKEN_QUERY,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::sddl;

pub(super) fn create_dir_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

pub(super) fn restrict_dir(dir: &Path) -> io::Result<()> {
    apply(dir, sddl::DIRECTORY)
}

/// Nothing to do: a new file inherits its directory's owner-only DACL.
pub(super) fn owner_only_mode(_: &mut OpenOptions) {}

pub(super) fn restrict_file(path: &Path) -> io::Result<()> {
    apply(path, sddl::FILE)
}

pub(super) fn is_owner_only(path: &Path) -> io::Result<bool> {
    Ok(sddl::is_owner_only(&read_sddl(path)?))
}

/// The owner as the descriptor names it; whether it is this process's account is not looked
/// up (that needs the process token).
pub(super) fn owner(path: &Path) -> io::Result<super::Owner> {
    let text = read_sddl(path)?;
    Ok(super::Owner {
        name: sddl::owner(&text).unwrap_or("?").to_string(),
        ours: None,
    })
}

pub(super) fn file_id(path: &Path) -> io::Result<(u64, u64)> {
    let file = File::open(path)?;
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the duration of the call and `info` is a valid out pointer.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Ok((u64::from(info.dwVolumeSerialNumber), index))
}

pub(super) fn account_id() -> String {
    // USERNAME is set for every Windows logon session, services included; this is the audit
    // line's last resort.
    String::from("unknown-account")
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// Sets the owner and the protected DACL described by `sddl_text` on `path`.
fn apply(path: &Path, sddl_text: &str) -> io::Result<()> {
    let sd = Descriptor::from_sddl(sddl_text)?;
    let name = wide(path.as_os_str());
    // The owner first. While someone else owns the object its DACL may deny us WRITE_DAC, but
    // WRITE_OWNER is granted by SeTakeOwnershipPrivilege whatever the DACL says; once the
    // Administrators group owns it, WRITE_DAC comes with ownership. An owner that is already
    // SYSTEM or Administrators is left (a descriptor that cannot be read is taken over).
    let owned = read_sddl(path).is_ok_and(|text| sddl::owner_is_allowed(&text));
    if !owned {
        enable_take_ownership();
        set_security(&name, OWNER_SECURITY_INFORMATION, &sd)?;
    }
    set_security(
        &name,
        DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
        &sd,
    )
}

fn set_security(
    name: &[u16],
    info: OBJECT_SECURITY_INFORMATION,
    sd: &Descriptor,
) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated and `sd` holds a valid self-relative descriptor.
    if unsafe { SetFileSecurityW(name.as_ptr(), info, sd.0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A security descriptor made from SDDL, freed when dropped.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn from_sddl(sddl_text: &str) -> io::Result<Descriptor> {
        let text = wide(OsStr::new(sddl_text));
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `text` is NUL-terminated; `sd` receives a LocalAlloc'd descriptor that Drop
        // frees.
        let made = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                text.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if made == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Descriptor(sd))
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from the conversion above and is freed exactly once.
        unsafe { LocalFree(self.0) };
    }
}

/// Enables SeTakeOwnershipPrivilege in this process's token, once. SYSTEM and elevated
/// administrators hold it (disabled until asked for); it is what lets them take over a folder
/// someone else created with a DACL that shuts them out. Without it (a non-administrator) the
/// owner change that follows fails with access denied, which is the error worth reporting, so
/// a failure here is not.
fn enable_take_ownership() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = enable_privilege("SeTakeOwnershipPrivilege");
    });
}

fn enable_privilege(privilege: &str) -> io::Result<()> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo-handle of the current process needs no closing; `token` receives a
    // handle closed below.
    let opened = unsafe {
        OpenProcessToken(
            GetCurrentProcess(),
            TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY,
            &mut token,
        )
    };
    if opened == 0 {
        return Err(io::Error::last_os_error());
    }
    let result = adjust(token, privilege);
    // SAFETY: `token` was opened above and is closed exactly once.
    unsafe { CloseHandle(token) };
    result
}

fn adjust(token: HANDLE, privilege: &str) -> io::Result<()> {
    let name = wide(OsStr::new(privilege));
    let mut luid = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    // SAFETY: `name` is NUL-terminated and `luid` is a valid out pointer.
    if unsafe { LookupPrivilegeValueW(std::ptr::null(), name.as_ptr(), &mut luid) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = TOKEN_PRIVILEGES {
        PrivilegeCount: 1,
        Privileges: [LUID_AND_ATTRIBUTES {
            Luid: luid,
            Attributes: SE_PRIVILEGE_ENABLED,
        }],
    };
    // SAFETY: `token` is open with TOKEN_ADJUST_PRIVILEGES; no previous state is asked for.
    let ok = unsafe {
        AdjustTokenPrivileges(
            token,
            0,
            &wanted,
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    // It also succeeds when the token lacks the privilege, and says so in the last error.
    let last = io::Error::last_os_error();
    if ok == 0 || last.raw_os_error() == Some(ERROR_NOT_ALL_ASSIGNED as i32) {
        return Err(last);
    }
    Ok(())
}

/// The owner and DACL of `path` as SDDL.
fn read_sddl(path: &Path) -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::ConvertSecurityDescriptorToStringSecurityDescriptorW;
    use windows_sys::Win32::Security::GetFileSecurityW;
    let name = wide(path.as_os_str());
    let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut needed = 0u32;
    // SAFETY: a null buffer of length 0 asks for the size only.
    unsafe { GetFileSecurityW(name.as_ptr(), info, std::ptr::null_mut(), 0, &mut needed) };
    if needed == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; needed as usize];
    // SAFETY: `buf` has the size the first call asked for.
    let ok = unsafe {
        GetFileSecurityW(
            name.as_ptr(),
            info,
            buf.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out: *mut u16 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `buf` holds the descriptor just read; `out` receives a LocalAlloc'd string.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            buf.as_mut_ptr().cast(),
            SDDL_REVISION_1,
            info,
            &mut out,
            &mut len,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `out` points to `len` UTF-16 units (the length includes the NUL).
    let units = unsafe { std::slice::from_raw_parts(out, len as usize) };
    let text = String::from_utf16_lossy(units)
        .trim_end_matches('\0')
        .to_string();
    // SAFETY: freed exactly once.
    unsafe { LocalFree(out.cast()) };
    Ok(text)
}
