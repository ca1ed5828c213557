//! Owner-only on Windows: a protected DACL (see `sddl.rs`) set by path, and file identity from
//! `GetFileInformationByHandle`.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    SetFileSecurityW, DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
};

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
    let text = read_sddl(path)?;
    Ok(sddl::is_owner_only(&text, owner_sid(&text)))
}

/// The owner as the descriptor names it; whether it is this process's account is not looked
/// up (that needs the process token).
pub(super) fn owner(path: &Path) -> io::Result<super::Owner> {
    let text = read_sddl(path)?;
    Ok(super::Owner {
        name: owner_sid(&text).unwrap_or("?").to_string(),
        ours: None,
    })
}

fn owner_sid(sddl_text: &str) -> Option<&str> {
    sddl_text
        .strip_prefix("O:")
        .and_then(|rest| rest.split(['G', 'D']).next())
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

/// Sets the DACL described by `sddl_text` on `path`, protected from inheritance.
fn apply(path: &Path, sddl_text: &str) -> io::Result<()> {
    let text = wide(OsStr::new(sddl_text));
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated; `sd` receives a LocalAlloc'd descriptor freed below.
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
    let name = wide(path.as_os_str());
    let info = DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION;
    // SAFETY: `name` is NUL-terminated and `sd` is the valid descriptor made above.
    let set = unsafe { SetFileSecurityW(name.as_ptr(), info, sd) };
    let err = (set == 0).then(io::Error::last_os_error);
    // SAFETY: `sd` came from the conversion above and is freed exactly once.
    unsafe { LocalFree(sd) };
    err.map_or(Ok(()), Err)
}

/// The owner and DACL of `path` as SDDL.
fn read_sddl(path: &Path) -> io::Result<String> {
    use windows_sys::Win32::Security::Authorization::ConvertSecurityDescriptorToStringSecurityDescriptorW;
    use windows_sys::Win32::Security::{GetFileSecurityW, OWNER_SECURITY_INFORMATION};
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
