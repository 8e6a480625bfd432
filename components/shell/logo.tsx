export function Logo({ className }: { className?: string }) {
  return (
    <span className={className}>
      <svg aria-hidden viewBox="0 0 32 32" className="inline h-7 w-7 align-middle">
        <rect width="32" height="32" rx="7" fill="#0f766e" />
        <ellipse cx="16" cy="24" rx="9" ry="3.2" fill="#ccfbf1" />
        <ellipse cx="16" cy="17.5" rx="6.5" ry="2.8" fill="#99f6e4" />
        <ellipse cx="16" cy="11.5" rx="4.2" ry="2.4" fill="#5eead4" />
        <ellipse cx="16" cy="6.8" rx="2.2" ry="1.6" fill="#2dd4bf" />
      </svg>
      <span className="ml-2 align-middle text-lg font-semibold tracking-tight">Cairn</span>
    </span>
  );
}
