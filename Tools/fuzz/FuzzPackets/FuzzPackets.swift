import Fuzzing

/// libFuzzer entry point of `FuzzTarget.packets` (Tools/fuzz/run; built only with SYNCREPLAY_FUZZ set).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.packets.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
