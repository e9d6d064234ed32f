import { defineConfig } from 'vite';

// Built with `vite build ui`: this folder is the root, the output goes where the server reads it.
export default defineConfig({
  base: '/ui/',
  // Vite's own JSX transform; no React plugin needed for a production build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    rolldownOptions: {
      // React Query marks modules "use client" for server components; meaningless in a browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
