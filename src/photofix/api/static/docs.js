// Swagger UI on this server's schema, from files this server serves (no CDN, no font host).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  // The key typed into Authorize survives a reload, as the playground's does.
  persistAuthorization: true,
  // Its default asks a public validator about this schema, and shows a badge from there.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
