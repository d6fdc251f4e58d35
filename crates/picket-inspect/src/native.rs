//! Recognizing native executables and libraries by their first bytes.

/// Which native format a file's first bytes announce, if any.
pub fn native_format(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF"),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => Some("Mach-O"),
        // Fat Mach-O shares its magic with Java class files; a fat header counts a few
        // architectures where a class file stores its version (45 or more).
        [0xca, 0xfe, 0xba, 0xbe, a, b, c, d, ..] if u32::from_be_bytes([*a, *b, *c, *d]) < 20 => {
            Some("Mach-O")
        }
        [b'M', b'Z', ..] if is_pe(head) => Some("PE"),
        _ => None,
    }
}

/// A PE file is `MZ`, then at the offset stored at 0x3c, `PE\0\0`.
fn is_pe(head: &[u8]) -> bool {
    let Some(offset) = head.get(0x3c..0x40) else {
        return false;
    };
    let offset = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
    head.get(offset..offset + 4) == Some(b"PE\0\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_three_formats() {
        assert_eq!(native_format(b"\x7fELF\x02\x01"), Some("ELF"));
        assert_eq!(
            native_format(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]),
            Some("Mach-O")
        );
        assert_eq!(
            native_format(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]),
            Some("Mach-O")
        );
        assert_eq!(
            native_format(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]),
            None,
            "Java class"
        );
        let mut pe = vec![0u8; 0x90];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(native_format(&pe), Some("PE"));
        assert_eq!(native_format(b"MZ just text"), None);
        assert_eq!(native_format(b"print('hi')"), None);
    }
}
