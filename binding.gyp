{
  # tei-router's Node-API addon. Built by scripts/build-native.mjs (npm `install`
  # lifecycle), which always passes --nodedir so node-gyp never downloads headers.
  #
  # Bit-exactness contract: every kernel must produce results bit-identical to its
  # JS twin in src/native/fallback.ts. Hence -ffp-contract=off (no FMA fusion, which
  # GCC enables by default in gnu++ mode and on aarch64) and never -ffast-math.
  #
  # C++ exceptions stay disabled (node-gyp's default -fno-exceptions) to match
  # NAPI_DISABLE_CPP_EXCEPTIONS: errors are thrown as JS exceptions and the
  # wrapper returns immediately.
  'targets': [
    {
      'target_name': 'tei_router_native',
      # Every native/*.cc (gyp runs this in the directory of binding.gyp).
      'sources': [
        "<!@(node -p \"require('fs').readdirSync('native').filter((f) => f.endsWith('.cc')).sort().map((f) => 'native/' + f).join(' ')\")",
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags': ['-O3', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off'],
      'cflags_cc!': ['-std=gnu++17'],
      'cflags_cc': ['-std=c++17'],
      'xcode_settings': {
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'GCC_OPTIMIZATION_LEVEL': '3',
        'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
        'GCC_TREAT_WARNINGS_AS_ERRORS': 'YES',
        'WARNING_CFLAGS': ['-Wall', '-Wextra'],
        'OTHER_CFLAGS': ['-ffp-contract=off'],
      },
      'msvs_settings': {
        'VCCLCompilerTool': {
          'Optimization': 2,
          'WarnAsError': 'true',
          'AdditionalOptions': ['/std:c++17', '/fp:precise'],
        },
      },
    },
  ],
}
