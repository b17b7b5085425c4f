#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_core::fuzz_api::gsm_frames(data));
