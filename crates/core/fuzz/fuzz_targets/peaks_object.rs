#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callvault_testkit::fuzz_api::peaks_object(data));
