import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The app loads only what Vite builds into dist/ (embedded by the Tauri build): no CDN, no remote
// fonts. Component CSS goes to a file, as the CSP allows styles from 'self' only.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: 'safari15', outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
});
