"""helpers.runtimes: the run-time line every chapter's title cell glues, from the benchmark report."""

from test_bench import runtimes_report


def test_vector_isa_names_the_widest_instruction_set():
    from helpers.runtimes import vector_isa

    assert vector_isa("avx2 avx512f avx512_bf16") == "AVX-512"
    assert vector_isa("avx2 avx_vnni") == "AVX2"
    assert vector_isa("") == vector_isa("?") == ""


def test_runtime_text_formatting():
    from benchmarks import runtimes
    from helpers.runtimes import NOT_MEASURED, format_seconds, runtime_text

    assert [format_seconds(x) for x in (23.1, 59.4, 60, 93.1, 276)] == ["23 s", "59 s", "1.0 min", "1.6 min",
                                                                       "4.6 min"]
    data = runtimes.build_runtimes(runtimes_report())
    assert runtime_text("04", data) == ("smoke 23 s; lab 4.6 min with VGG16 / 1.6 min with the offline substitute "
                                        "(measured on 2 CPU cores, 2026-11-26 and 2026-12-01)")
    assert runtime_text(1, data) == "smoke 21 s; lab 4.2 min (measured on 2 CPU cores, 2026-12-01)"
    assert runtime_text("05", data) == ("lab 5.5 min with the offline substitute "
                                        "(measured on 2 CPU cores, 2026-12-01)")
    data["machine"]["vector_flags"] = "avx2 avx512f avx512_vnni"
    assert runtime_text(1, data) == "smoke 21 s; lab 4.2 min (measured on 2 CPU cores with AVX-512, 2026-12-01)"
    data["machine"]["vector_flags"] = "avx2"
    assert runtime_text(1, data).endswith("(measured on 2 CPU cores with AVX2, 2026-12-01)")
    data["machine"]["vector_flags"] = ""
    data["chapters"]["01"]["contended"] = True
    assert runtime_text("01", data).endswith("(measured on 2 shared CPU cores, 2026-12-01)")
    data["chapters"]["06"].update(smoke_s=None, lab_real_s=None, lab_substitute_s=None)
    assert runtime_text("06", data) == NOT_MEASURED == "not measured yet"
    assert runtime_text("03", data) == NOT_MEASURED  # no such chapter
    assert runtime_text("04", {}) == NOT_MEASURED and runtime_text("xx", data) == NOT_MEASURED
