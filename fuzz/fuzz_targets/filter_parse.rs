//! Arbitrary bytes into the filter parsers: none may panic (or overflow the stack), and every
//! filter that parses must print, in both forms, as text that reads back to the same tree.

#![no_main]

use laneway_core::filter::{parse, parse_json, parse_str, to_json, to_string};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Both parsers see every input, whichever form `parse` would pick.
    let _ = parse_str(input);
    let _ = parse_json(input);
    let Ok(e) = parse(input) else {
        return;
    };
    let tree = e.without_locs();

    // The printed forms may outgrow MAX_LEN (`=` prints as `eq`), so they are reread with the
    // form's own parser, which has no length limit.
    let printed = to_string(&e);
    match parse_str(&printed) {
        Ok(back) => assert_eq!(
            back.without_locs(),
            tree,
            "{input:?} printed as {printed:?} reads back differently"
        ),
        Err(err) => panic!("{input:?} printed as {printed:?} does not parse: {err}"),
    }

    let json = to_json(&e).to_string();
    match parse_json(&json) {
        Ok(back) => assert_eq!(
            back.without_locs(),
            tree,
            "{input:?} printed as {json} reads back differently"
        ),
        Err(err) => panic!("{input:?} printed as {json} does not parse: {err}"),
    }
});
