//! Writing a restored package into a folder, and nowhere else.
//!
//! Every name is checked again (relative, no `..`, no empty or `.` components), folders are
//! created one component at a time, and a symbolic link already present in the output folder
//! (as a folder on the way or as the file itself) is refused rather than followed. An existing
//! regular file of the same name is replaced: the old one is removed and the new one created
//! exclusively, so a link planted in between is not followed either.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::WxapkgError;
use super::reader::check_name;

/// Write `files` (relative name → contents) below `out`, which is created if missing.
pub fn write_tree(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), WxapkgError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WxapkgError::Io { path, source }
    };
    match fs::symlink_metadata(out) {
        Ok(m) if m.file_type().is_symlink() => {
            // The user named this folder; a link they chose themselves is theirs to follow.
            if !fs::metadata(out).map_err(io(out))?.is_dir() {
                return Err(unsafe_output(out, "not a folder"));
            }
        }
        Ok(m) if !m.is_dir() => return Err(unsafe_output(out, "not a folder")),
        Ok(_) => {}
        Err(_) => fs::create_dir_all(out).map_err(io(out))?,
    }
    for (index, (name, contents)) in files.iter().enumerate() {
        let name = check_name(index, name.as_bytes())?;
        let parts: Vec<&str> = name.split('/').collect();
        let mut path = out.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            let last = i + 1 == parts.len();
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(unsafe_output(&path, "a symbolic link is in the way"));
                }
                Ok(m) if !last && !m.is_dir() => {
                    return Err(unsafe_output(&path, "a file is where a folder should be"));
                }
                Ok(m) if last && m.is_dir() => {
                    return Err(unsafe_output(&path, "a folder is where a file should be"));
                }
                Ok(_) if last => fs::remove_file(&path).map_err(io(&path))?,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !last {
                        fs::create_dir(&path).map_err(io(&path))?;
                    }
                }
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(contents).map_err(io(&path))?;
    }
    Ok(())
}

fn unsafe_output(path: &Path, reason: &'static str) -> WxapkgError {
    WxapkgError::UnsafeOutput {
        path: PathBuf::from(path),
        reason,
    }
}
