// Type-aware lint over the whole workspace (typescript-eslint's project service reads tsconfig.json).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "docs/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
      "@typescript-eslint/no-confusing-void-expression": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Configuration is read in one place (libs/runtime config, the CLI's entry point, test support).
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read configuration through @atomic-ci/runtime's loadConfig (or pass it in)." }],
      "no-restricted-syntax": [
        "error",
        { selector: "ThrowStatement > Literal", message: "Throw an Error (or a BusError/ConfigError), never a string." },
      ],
    },
  },
  {
    files: ["libs/runtime/src/config/load.ts", "cli/src/main.ts", "test/**", "bench/**", "scripts/**", "**/*.test.ts", "**/*.test-helper.ts"],
    rules: { "no-restricted-properties": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly" },
    },
  },
);
